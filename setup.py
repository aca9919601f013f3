"""Install deap-nos: neural optimizer search as a DEAP plugin."""
from setuptools import find_packages, setup

setup(
    name="deap-nos",
    version="0.1.0",
    description="Evolve deep-learning optimizers (update equation, decay functions, "
                "learning-rate schedule) with DEAP and train them with Keras.",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    packages=find_packages(include=["deap_nos", "deap_nos.*"]),
    python_requires=">=3.10",
    install_requires=[
        "deap>=1.4,<2",
        "numpy>=1.26,<3",
        "scipy>=1.11,<2",
        "networkx>=3.2,<4",
        # one TensorFlow distribution on every platform: the plain wheel runs on the
        # CPU, and the gpu extra adds only the CUDA libraries to that same
        # distribution (tensorflow-cpu beside it would write the same package)
        "tensorflow>=2.16,<3",
        "keras>=3.3,<4",
        "multiprocess>=0.70.15,<1",
        "matplotlib>=3.7,<4",
        "scikit-learn>=1.3,<2",
        "mnist1d>=0.0.2,<1",
        "tqdm>=4.66,<5",
    ],
    extras_require={
        "test": ["pytest>=7", "hypothesis>=6.80", "dask[distributed]>=2024.1",
                 "jax>=0.4.30", "optax>=0.2"],
        # the JAX population trainer and nos.optax (CPU); on an NVIDIA GPU install
        # "jax[cuda12]" (or "jax[cuda13]") beside it
        "jax": ["jax>=0.4.30", "optax>=0.2"],
        "dask": ["dask[distributed]>=2024.1"],
        "gpu": ["tensorflow[and-cuda]>=2.16,<3"],
    },
    entry_points={"console_scripts": ["deap-nos=deap_nos.cli:main"]},
)

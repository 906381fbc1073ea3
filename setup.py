"""Package discovery that pyproject.toml cannot express: the built-in plugins live under
``plugins/`` and the model cards under ``model_cards/`` (shipped as ``handzoo_model_cards``)."""

from setuptools import find_packages, setup

plugin_packages = find_packages("plugins", include=["handzoo_*"])
packages = find_packages(".", include=["handzoo", "handzoo.*"]) + plugin_packages + ["handzoo_model_cards"]
package_dir = {"handzoo_model_cards": "model_cards"}
package_dir.update({p: "plugins/" + p.replace(".", "/") for p in plugin_packages})

setup(packages=packages, package_dir=package_dir)

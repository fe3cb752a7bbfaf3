"""Print the oldest versions of skdnn's dependencies that pyproject.toml declares, as pip
constraints (``numpy==1.24`` for ``numpy>=1.24``): what CI's floor stage installs."""

import re
from pathlib import Path

import tomllib  # Python >= 3.11, as on CI

project = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())["project"]
for requirement in project["dependencies"]:
    name, floor = re.fullmatch(r"\s*([A-Za-z0-9_.-]+)\s*>=\s*([0-9.]+)\s*", requirement).groups()
    print(f"{name}=={floor}")

"""Fail loudly if the course environment pulled a CUDA build of PyTorch or another torch than the
one constraints.txt pins (the one place the tested versions are written)."""

import subprocess
import sys

from course_lib.environment import pinned_version

REQUIRED_TORCH = pinned_version("torch")
if REQUIRED_TORCH is None:
    sys.exit("environment check failed: constraints.txt pins no torch version")

listing = subprocess.run([sys.executable, "-m", "pip", "list", "--format=freeze"],
                         capture_output=True, text=True, check=True).stdout.splitlines()
nvidia = [line for line in listing if line.lower().startswith("nvidia-")]
torch = [line for line in listing if line.lower().startswith("torch==")]
problems = []
if nvidia:
    problems.append(f"CUDA packages installed: {', '.join(nvidia)}; something required a newer torch")
if not torch or torch[0].split("==")[1].split("+")[0] != REQUIRED_TORCH:
    problems.append(f"expected torch {REQUIRED_TORCH} (CPU), found {torch or 'none'}")
if problems:
    sys.exit("environment check failed:\n  " + "\n  ".join(problems))
print(f"environment ok: {torch[0]}, no nvidia-* packages")

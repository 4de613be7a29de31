"""Fail loudly if the course environment pulled a CUDA build of PyTorch or the wrong torch."""

import subprocess
import sys

REQUIRED_TORCH = "2.13.0"

listing = subprocess.run([sys.executable, "-m", "pip", "list", "--format=freeze"],
                         capture_output=True, text=True, check=True).stdout.splitlines()
nvidia = [line for line in listing if line.lower().startswith("nvidia-")]
torch = [line for line in listing if line.lower().startswith("torch==")]
problems = []
if nvidia:
    problems.append(f"CUDA packages installed: {', '.join(nvidia)}; something required a newer torch")
if not torch or not torch[0].split("==")[1].startswith(REQUIRED_TORCH):
    problems.append(f"expected torch {REQUIRED_TORCH} (CPU), found {torch or 'none'}")
if problems:
    sys.exit("environment check failed:\n  " + "\n  ".join(problems))
print(f"environment ok: {torch[0]}, no nvidia-* packages")

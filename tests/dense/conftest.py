"""torchvision imports torch._dynamo, which imports triton when installed; triton's native library crashes
the process when TensorFlow was imported first (see tests/torch/conftest.py). Nothing here needs it."""

import sys

sys.modules.setdefault("triton", None)

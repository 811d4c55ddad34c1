"""torchvision imports torch._dynamo, which imports triton when it is installed; triton's native library
crashes the process (SIGSEGV) when TensorFlow was imported first, as it is when other test modules run
before these. Nothing here needs triton (CPU inference only), so it is hidden from the import system."""

import sys

sys.modules.setdefault("triton", None)

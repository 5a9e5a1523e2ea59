"""Streamlit helpers shared by the pages: navigation, the job handle, generators, uploads.

They live outside pages/ on purpose: Streamlit serves every file under pages/ as a page when a
deep link arrives before app.py has run, so a helper module there could be opened by URL.
Streamlit may be imported here; anything a second UI could reuse lives in dcgan/ instead.
"""

import os

import torch

# The server's one thread policy, set once when the first page imports ui: one intra-op thread.
# Training is another process with its own policy (dcgan.hardware.default_threads: all cores but
# one), so this only keeps the server's own small work (the 2-D GAN, sampling) from fighting
# the trainer for cores: on a busy 2-core machine a 2-D GAN epoch took 3.5-5.5 s on two
# threads against 0.4-1.6 s on one. OMP_NUM_THREADS, when set, is left to rule.
if "OMP_NUM_THREADS" not in os.environ:
    torch.set_num_threads(1)

"""The HLLM controller: per turn, how much compute the tutor may spend (see controller.py)."""

"""Language-model backends behind one interface (embedded llama.cpp, OpenAI-compatible)."""

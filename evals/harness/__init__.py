"""What the benchmarks share: servers in child processes, WebRTC learner clients, spoken
samples, the stock Pipecat baseline, session and turn harnesses, plots."""

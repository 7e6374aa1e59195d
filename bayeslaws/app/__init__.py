"""Layer 7, the applications: the command line, the demo (the main job), the paper
reproductions runner and the simulated design campaign. Nothing below imports them."""

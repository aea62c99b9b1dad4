from firmware_sim.cli import sim

sim(prog_name="python -m firmware_sim")

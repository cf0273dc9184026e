"""Past one machine: session hosts on a Ray cluster behind stateless fronts (docs/deploy.md).

Nothing here is imported unless `eco1 serve --cluster` runs; routing.py and front.py need
no Ray, the actors (registry.py, host.py, launch.py) do.
"""

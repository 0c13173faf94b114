"""The JavaScript shipped into every runtime (the module runner, its transport end, profiles) and
the bundler that joins it into one boot expression (bundle.py)."""

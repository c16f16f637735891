# tests/diag/lit.cfg.py: lit configuration for the diagnostics tests. Each .nnd file runs
# `nndc check` and FileCheck compares the messages with the CHECK lines next to the bad code.
import os

config.name = 'nnd-diag'
config.suffixes = ['.nnd']
config.excludes = ['Inputs']  # files the tests import, not tests
config.test_source_root = os.path.dirname(os.path.abspath(__file__))
lit_config.load_config(config, os.path.join(os.path.dirname(config.test_source_root), 'lit.common.py'))

# tests/lit/lit.cfg.py: lit configuration for the golden tests (tests/lit/*/): each .nnd file
# runs an nndc command (each .nir, `nndc opt`) and FileCheck compares its output (AST dumps, IR) with the CHECK lines.
import os

config.name = 'nnd-lit'
config.suffixes = ['.nnd', '.nir']
config.excludes = ['Inputs']  # files the tests import, not tests
config.test_source_root = os.path.dirname(os.path.abspath(__file__))
lit_config.load_config(config, os.path.join(os.path.dirname(config.test_source_root), 'lit.common.py'))

# tests/lit/lit.cfg.py: lit configuration for the golden tests (tests/lit/*/): each .nnd file
# runs an nndc command (each .nir, `nndc opt`) and FileCheck compares its output (AST dumps, IR) with the CHECK lines.
import os
import lit.formats

config.name = 'nnd-lit'
config.test_format = lit.formats.ShTest(True)
config.suffixes = ['.nnd', '.nir']
config.test_source_root = os.path.dirname(os.path.abspath(__file__))
config.test_exec_root = config.test_source_root

_root = os.path.dirname(os.path.dirname(config.test_source_root))
_llvm = '/usr/lib/llvm-19/bin'
config.substitutions.append(('%nndc', os.path.join(_root, 'nndc')))
config.substitutions.append((r'(?<![\w/.-])FileCheck(?![\w.-])', os.path.join(_llvm, 'FileCheck')))
config.substitutions.append((r'(?<![\w/.-])not(?![\w.-])', os.path.join(_llvm, 'not')))

# tests/diag/lit.cfg.py: lit configuration for the diagnostics tests. Each .nnd file runs
# `nndc check` and FileCheck compares the messages with the CHECK lines next to the bad code.
import os
import lit.formats

config.name = 'nnd-diag'
config.test_format = lit.formats.ShTest(True)
config.suffixes = ['.nnd']
config.excludes = ['Inputs']  # files the tests import, not tests
config.test_source_root = os.path.dirname(os.path.abspath(__file__))
config.test_exec_root = config.test_source_root

_root = os.path.dirname(os.path.dirname(config.test_source_root))
_llvm = '/usr/lib/llvm-19/bin'
config.substitutions.append(('%nndc', os.path.join(_root, 'nndc')))
config.substitutions.append((r'(?<![\w/.-])FileCheck(?![\w.-])', os.path.join(_llvm, 'FileCheck')))
config.substitutions.append((r'(?<![\w/.-])not(?![\w.-])', os.path.join(_llvm, 'not')))

# tests/lit.common.py: what both lit suites share, loaded by tests/lit/lit.cfg.py and
# tests/diag/lit.cfg.py (lit_config.load_config): the shell test format, the test directory as
# its own exec root, and the substitutions %nndc (this tree's ./nndc), FileCheck and not (LLVM 19's).
import os
import lit.formats

config.test_format = lit.formats.ShTest(True)
config.test_exec_root = config.test_source_root

_root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_llvm = '/usr/lib/llvm-19/bin'
config.substitutions.append(('%nndc', os.path.join(_root, 'nndc')))
config.substitutions.append((r'(?<![\w/.-])FileCheck(?![\w.-])', os.path.join(_llvm, 'FileCheck')))
config.substitutions.append((r'(?<![\w/.-])not(?![\w.-])', os.path.join(_llvm, 'not')))

"""The shared domain of mykey-pos: amounts, programs and their rules, tax, tickets, wire schema.

Pure Python: no I/O library is imported here (a hygiene test checks it), so the counter
terminal, the settlement server and the printers all compute money the same way.
"""

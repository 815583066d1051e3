"""JSONata: the expression AST and its rendering, compiled projections, engines and the guard.

In the order a page body meets them: ``jsonata_ast`` (the small AST of generated expressions and
the one renderer of their text), ``generated`` (the projection a metric's selection builds),
``compiled`` (that projection evaluated in Python with jsonata-python's results), ``custom``
(user-written JSONata, its errors with code and position), ``engines``, ``guard`` and ``worker``
(which engine runs it, in a process killed when late) and ``rows`` (every engine's output as rows).
"""

"""JSONata: the expression AST and its rendering, compiled projections, engines and the guard."""

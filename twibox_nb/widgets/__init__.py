"""ipywidgets views. The only package of twibox_nb that imports ipywidgets: every decision is made
by the core modules, and these widgets only show results and edit specs."""

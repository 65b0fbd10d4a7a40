"""How the graph's nodes run: start, spin and stop (``node_runtime``), the executor, in-process
delivery between composed nodes (``intra_process``), callbacks that never take a node down
(``callback_errors``), typed parameters from params/graph.yaml (``node_params``), and a node's tie to
the ``meld launch`` that started it (``runner_watch``)."""

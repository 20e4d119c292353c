"""The offline cognitive engine: NLP, pattern recognition over runs, decision optimisation."""

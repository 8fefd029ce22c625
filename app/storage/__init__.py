"""Storage: the exchange log (questions, answers, citations, feedback)."""

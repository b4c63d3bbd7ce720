"""Figures of 004 (Zhang, Liu, Wu, Jiang, Zhuang, Nat. Commun. 15, 9354 (2024)): late-time dynamics."""

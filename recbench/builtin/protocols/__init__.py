"""Built-in split protocols beyond the per-user random holdout; registered by ``recbench.builtin.splitters``.

Every protocol returns its split through :func:`recbench.data.split.split_from_assignment`, so it is
validated and carries a ``split_id``. Random protocols draw from
``np.random.default_rng(np.random.SeedSequence([seed, <protocol constant>]))``; deterministic ones
(``leave_one_out``, ``temporal``) ignore the seed and record it as 0, so every seed shares one
``split_id``.
"""

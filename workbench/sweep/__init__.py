"""Parameter sweeps: many fits of one or more configs, run in parallel, resumably.

The parts, each in its own module:

* ``space``   – the search space (lists and distributions) and its grid or random expansion;
* ``spec``    – reading and checking a sweep file (``SweepSpec``);
* ``members`` – one validated, keyed run per config × point (``Member``);
* ``store``   – the SQLite run store (``RunStore``), written only by the coordinating process;
* ``lock``    – the lock that keeps two invocations of one sweep apart (``SweepLock``);
* ``worker``  – what a worker process does for one run (``RunTask``, ``execute``);
* ``executors`` – local processes or a Dask cluster behind one small interface;
* ``leaderboard``, ``state``, ``outputs`` and ``html`` – ranking and the outputs a reader opens;

``plan`` checks a sweep before anything runs and ``orchestrator`` runs it (lock, signals, restart,
the run loop); ``folder`` decides what a sweep may write and delete; ``status`` tells a sweep
that died (``kill -9``) from one that runs; ``repair`` rebuilds a lost store from the run folders.
"""

"""Where the result of a check goes: Allure (``allure``, ``allure_files``), ``matrix.json``
and ``run.json`` (``matrix``), the terminal grid (``terminal``). Each is fed from a
``keyprobe.harness.check.CheckResult`` or the cells made from it; none runs a check."""

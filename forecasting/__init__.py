"""Demand forecast per SKU × region × week (issue 13, item 5): plain pandas frames in, plain frames out.

No database and no settings: ``orders_core.planning`` reads the order history and stores the results; this
engine only computes. One job per module:

* ``history``: a seeded generator of daily orders (trend, yearly and weekly seasonality, promotions,
  intermittent and lumpy SKUs) aggregated to weeks, for tests and benchmarks;
* ``classify``: demand classes by ADI / CV² with the Syntetos-Boylan cut-offs;
* ``metrics``: WAPE, bias and MASE;
* ``models``: the candidate models per class (statsforecast) and the rolling-origin backtest;
* ``selection``: the model chosen per class on the selection windows, scored on the hold-out windows;
* ``intervals``: split-conformal prediction intervals from backtest residuals, clipped at zero;
* ``reconcile``: SKU × region coherence with hierarchicalforecast's MinTrace (non-negative);
* ``safety_stock``: safety stock from the backtest's lead-time errors and replenishment / transfer suggestions;
* ``pipeline``: the steps above in order, for the service and the benchmark.

Frames use statsforecast's long format: ``unique_id`` (``"{sku}/{region}"``), ``ds`` (the week's Monday) and
``y``, plus ``sku`` and ``region`` columns where a step needs the hierarchy.
"""

"""Planning ahead from the order history (issue 13): the demand forecast per SKU × region × week and what
it implies per warehouse (safety stock, replenishment and transfers), and a customer's expected demand.

Region = the H3 cell at resolution 5 (``REGION_H3_RESOLUTION``; cells of about 250 km², edges of about
8.5 km) that contains the order's delivery point. Why H3 and not the customer's district: every order has
a delivery point and the service has no district field; resolution 5 is coarse enough that one region
gathers a town's or a district's customers (so series are not all zeros) and fine enough to tell the areas
of one warehouse apart. Each region is served by its nearest warehouse (great-circle distance from the
cell's centre).

``forecasting`` computes; this package reads the history (``history``), runs and stores a forecast
(``forecast``), reads what was stored (``reads``) and answers a customer's share of it (``customer_demand``).
"""

"""The live map's data: carriers where they are, a day's orders where they go, H3 heat of demand and lateness."""

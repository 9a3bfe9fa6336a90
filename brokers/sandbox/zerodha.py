"""Simulated zerodha (placeholder until its simulator lands)."""

urlpatterns = []

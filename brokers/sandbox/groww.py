"""Simulated groww (placeholder until its simulator lands)."""

urlpatterns = []

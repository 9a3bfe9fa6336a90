"""Simulated angelone (placeholder until its simulator lands)."""

urlpatterns = []

"""Simulated dhan (placeholder until its simulator lands)."""

urlpatterns = []

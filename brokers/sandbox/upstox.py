"""Simulated upstox (placeholder until its simulator lands)."""

urlpatterns = []

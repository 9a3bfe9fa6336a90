"""Simulated iifl (placeholder until its simulator lands)."""

urlpatterns = []

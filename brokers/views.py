from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from brokers.models import BrokerConnection


@login_required
def dashboard(request):
    connections = (
        BrokerConnection.objects.for_user(request.user).select_related("app").order_by("broker")
    )
    return render(request, "brokers/dashboard.html", {"connections": connections})

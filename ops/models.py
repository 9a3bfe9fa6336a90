from django.db import models


class DrillMark(models.Model):
    """One task of a restart drill (``manage.py drill_mark``): published once, it must have
    run exactly once whatever was restarted meanwhile. ``attempts`` counts starts, a start cut
    short by a killed worker included; ``runs`` counts completed effects."""

    label = models.CharField(max_length=100, unique=True)
    attempts = models.PositiveIntegerField(default=0)
    runs = models.PositiveIntegerField(default=0)
    worker_pid = models.IntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "ops_drill_marks"

    def __str__(self):
        return f"{self.label}: {self.runs} run(s) of {self.attempts} attempt(s)"

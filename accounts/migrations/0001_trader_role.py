from django.db import migrations


def create_trader_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.get_or_create(name="trader")


class Migration(migrations.Migration):
    dependencies = [("auth", "0012_alter_user_first_name_max_length")]

    operations = [migrations.RunPython(create_trader_group, migrations.RunPython.noop)]

from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('casebot', '0005_issue8_second_half')]

    initial = False

    operations = [
        ops.AddField(
            model_name='OutboxMessage',
            name='priority',
            field=fields.SmallIntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='Participant',
            name='digest_enabled',
            field=fields.BooleanField(default=True, db_default=True),
        ),
        ops.AddField(
            model_name='Participant',
            name='next_digest_at',
            field=fields.DatetimeField(null=True, db_index=True, auto_now=False, auto_now_add=False),
        ),
    ]

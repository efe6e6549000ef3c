from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from casebot.db.models import OutboxStatus
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('casebot', '0001_initial')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Note',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('case', fields.ForeignKeyField('casebot.Case', source_field='case_id', db_constraint=True, to_field='id', related_name='notes', on_delete=OnDelete.CASCADE)),
                ('author', fields.ForeignKeyField('casebot.Participant', source_field='author_id', null=True, db_constraint=True, to_field='id', related_name='notes', on_delete=OnDelete.SET_NULL)),
                ('text', fields.TextField(unique=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'notes', 'app': 'casebot', 'pk_attr': 'id', 'table_description': 'An internal note of a coordinator on a case, never shown to a family.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='OutboxMessage',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('dedupe_key', fields.CharField(unique=True, max_length=200)),
                ('participant', fields.ForeignKeyField('casebot.Participant', source_field='participant_id', db_constraint=True, to_field='id', related_name='outbox', on_delete=OnDelete.CASCADE)),
                ('case', fields.ForeignKeyField('casebot.Case', source_field='case_id', null=True, db_constraint=True, to_field='id', related_name='outbox', on_delete=OnDelete.CASCADE)),
                ('kind', fields.CharField(max_length=40)),
                ('payload', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('status', fields.CharEnumField(default=OutboxStatus.PENDING, description='PENDING: pending\nSENT: sent\nDEAD: dead', enum_type=OutboxStatus, max_length=10)),
                ('attempts', fields.IntField(default=0)),
                ('available_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('sent_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('sent_message_id', fields.BigIntField(null=True)),
                ('last_error', fields.CharField(null=True, max_length=300)),
            ],
            options={'table': 'outbox', 'app': 'casebot', 'indexes': [Index(fields=['status', 'available_at']), Index(fields=['participant_id', 'sent_message_id'])], 'pk_attr': 'id', 'table_description': 'A message to send, written in the same transaction as the change that caused it.'},
            bases=['Model'],
        ),
    ]

from tortoise import migrations
from tortoise.migrations import operations as ops
from casebot.domain.checklist import ItemStatus
from casebot.domain.questions import Direction, Topic
from casebot.domain.roles import Role
from casebot.domain.states import CaseState
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name='Participant',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('telegram_user_id', fields.BigIntField(unique=True)),
                ('chat_id', fields.BigIntField()),
                ('display_name', fields.CharField(default='', max_length=200)),
                ('role', fields.CharEnumField(default=Role.FAMILY, description='FAMILY: family\nCOORDINATOR: coordinator\nADMIN: admin\nSYSTEM: system', enum_type=Role, max_length=20)),
                ('locale', fields.CharField(max_length=8)),
                ('timezone', fields.CharField(max_length=64)),
                ('quiet_hours', fields.CharField(null=True, max_length=11)),
                ('blocked', fields.BooleanField(default=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'participants', 'app': 'casebot', 'pk_attr': 'id', 'table_description': 'A Telegram user the bot knows: a family member or a coordinator.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Case',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('label', fields.CharField(max_length=200)),
                ('hospital', fields.CharField(null=True, max_length=200)),
                ('department', fields.CharField(null=True, max_length=200)),
                ('reviewer', fields.CharField(null=True, max_length=200)),
                ('coordinator', fields.ForeignKeyField('casebot.Participant', source_field='coordinator_id', null=True, db_constraint=True, to_field='id', related_name='coordinated_cases', on_delete=OnDelete.SET_NULL)),
                ('state', fields.CharEnumField(default=CaseState.RECORDS_GATHERING, description='RECORDS_GATHERING: records_gathering\nSENT: sent\nUNDER_REVIEW: under_review\nOPINION_RECEIVED: opinion_received\nHOME_FOLLOW_UP: home_follow_up\nCLOSED: closed\nWITHDRAWN: withdrawn', enum_type=CaseState, max_length=24)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('state_changed_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('last_activity_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('erased_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'cases', 'app': 'casebot', 'indexes': [Index(fields=['state', 'last_activity_at'])], 'pk_attr': 'id', 'table_description': 'One second-opinion request of a family, the reference (C-0042) is derived from ``id``.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='AuditEvent',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('case', fields.ForeignKeyField('casebot.Case', source_field='case_id', db_constraint=True, to_field='id', related_name='audit_events', on_delete=OnDelete.CASCADE)),
                ('actor', fields.ForeignKeyField('casebot.Participant', source_field='actor_id', null=True, db_constraint=True, to_field='id', related_name='audit_events', on_delete=OnDelete.SET_NULL)),
                ('actor_role', fields.CharField(max_length=20)),
                ('action', fields.CharField(max_length=40)),
                ('from_value', fields.CharField(null=True, max_length=64)),
                ('to_value', fields.CharField(null=True, max_length=64)),
                ('reason', fields.TextField(null=True, unique=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'audit_events', 'app': 'casebot', 'pk_attr': 'id', 'table_description': 'One change to a case: who, when, what, from, to, and why. Kept, anonymised, after erasure.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='CaseMember',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('case', fields.ForeignKeyField('casebot.Case', source_field='case_id', db_constraint=True, to_field='id', related_name='members', on_delete=OnDelete.CASCADE)),
                ('participant', fields.ForeignKeyField('casebot.Participant', source_field='participant_id', db_constraint=True, to_field='id', related_name='memberships', on_delete=OnDelete.CASCADE)),
                ('joined_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'case_members', 'app': 'casebot', 'unique_together': (('case', 'participant'),), 'pk_attr': 'id', 'table_description': 'A family member who joined a case by invite.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ChecklistItem',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('case', fields.ForeignKeyField('casebot.Case', source_field='case_id', db_constraint=True, to_field='id', related_name='items', on_delete=OnDelete.CASCADE)),
                ('position', fields.IntField()),
                ('code', fields.CharField(null=True, max_length=40)),
                ('title', fields.CharField(default='', max_length=2000)),
                ('status', fields.CharEnumField(default=ItemStatus.MISSING, description='MISSING: missing\nRECEIVED: received\nWAIVED: waived', enum_type=ItemStatus, max_length=12)),
                ('waive_reason', fields.TextField(null=True, unique=False)),
                ('status_changed_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'checklist_items', 'app': 'casebot', 'unique_together': (('case', 'position'),), 'pk_attr': 'id', 'table_description': 'One item of the record packet of a case, numbered from 1 within the case.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Invite',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('case', fields.ForeignKeyField('casebot.Case', source_field='case_id', db_constraint=True, to_field='id', related_name='invites', on_delete=OnDelete.CASCADE)),
                ('token_hash', fields.CharField(unique=True, max_length=64)),
                ('created_by', fields.ForeignKeyField('casebot.Participant', source_field='created_by_id', null=True, db_constraint=True, to_field='id', related_name='invites_created', on_delete=OnDelete.SET_NULL)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('used_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('used_by', fields.ForeignKeyField('casebot.Participant', source_field='used_by_id', null=True, db_constraint=True, to_field='id', related_name='invites_used', on_delete=OnDelete.SET_NULL)),
            ],
            options={'table': 'invites', 'app': 'casebot', 'pk_attr': 'id', 'table_description': 'A single-use invite to join a case, only the SHA-256 of its token is stored.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Question',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('case', fields.ForeignKeyField('casebot.Case', source_field='case_id', db_constraint=True, to_field='id', related_name='questions', on_delete=OnDelete.CASCADE)),
                ('number', fields.IntField()),
                ('direction', fields.CharEnumField(description='TO_FAMILY: to_family\nTO_HOSPITAL: to_hospital', enum_type=Direction, max_length=12)),
                ('topic', fields.CharEnumField(null=True, description='DEPARTMENT_AND_REVIEWER: department_and_reviewer\nPRE_TRAVEL_REVIEW: pre_travel_review\nTRANSLATION: translation\nREPEAT_TESTS: repeat_tests\nREVIEW_DURATION: review_duration\nCANDIDACY_BEFORE_DEPOSIT: candidacy_before_deposit\nCOMPLICATIONS_AND_FOLLOW_UP: complications_and_follow_up\nTRANSLATED_SUMMARY: translated_summary\nFOLLOW_UP_QUESTIONS: follow_up_questions', enum_type=Topic, max_length=40)),
                ('text', fields.TextField(unique=False)),
                ('asked_by', fields.ForeignKeyField('casebot.Participant', source_field='asked_by_id', null=True, db_constraint=True, to_field='id', related_name='questions_asked', on_delete=OnDelete.SET_NULL)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('answer', fields.TextField(null=True, unique=False)),
                ('answered_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('answered_by', fields.ForeignKeyField('casebot.Participant', source_field='answered_by_id', null=True, db_constraint=True, to_field='id', related_name='questions_answered', on_delete=OnDelete.SET_NULL)),
            ],
            options={'table': 'questions', 'app': 'casebot', 'unique_together': (('case', 'number'),), 'pk_attr': 'id', 'table_description': 'A question tracked until answered: asked by the hospital of the family, or asked of the hospital.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='RecordFile',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('case', fields.ForeignKeyField('casebot.Case', source_field='case_id', db_constraint=True, to_field='id', related_name='files', on_delete=OnDelete.CASCADE)),
                ('item', fields.ForeignKeyField('casebot.ChecklistItem', source_field='item_id', null=True, db_constraint=True, to_field='id', related_name='files', on_delete=OnDelete.SET_NULL)),
                ('sender', fields.ForeignKeyField('casebot.Participant', source_field='sender_id', null=True, db_constraint=True, to_field='id', related_name='files_sent', on_delete=OnDelete.SET_NULL)),
                ('telegram_file_id', fields.CharField(max_length=255)),
                ('file_unique_id', fields.CharField(max_length=64)),
                ('file_name', fields.CharField(null=True, max_length=255)),
                ('file_size', fields.BigIntField(null=True)),
                ('mime_type', fields.CharField(null=True, max_length=100)),
                ('downloadable', fields.BooleanField(default=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'record_files', 'app': 'casebot', 'pk_attr': 'id', 'table_description': 'A file a family member sent, kept by Telegram file_id (the bot stores no file bytes).'},
            bases=['Model'],
        ),
    ]

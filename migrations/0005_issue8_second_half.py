from tortoise import migrations
from tortoise.migrations import operations as ops
from casebot.domain.questions import Topic
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('casebot', '0004_issue7_trust')]

    initial = False

    operations = [
        ops.CreateModel(
            name='CaseFile',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('case', fields.ForeignKeyField('casebot.Case', source_field='case_id', db_constraint=True, to_field='id', related_name='sent_files', on_delete=OnDelete.CASCADE)),
                ('sender', fields.ForeignKeyField('casebot.Participant', source_field='sender_id', null=True, db_constraint=True, to_field='id', related_name='case_files_sent', on_delete=OnDelete.SET_NULL)),
                ('purpose', fields.CharField(max_length=12)),
                ('kind', fields.CharField(max_length=12)),
                ('telegram_file_id', fields.CharField(max_length=255)),
                ('file_unique_id', fields.CharField(max_length=64)),
                ('file_name', fields.CharField(null=True, max_length=255)),
                ('file_size', fields.BigIntField(null=True)),
                ('mime_type', fields.CharField(null=True, max_length=100)),
                ('note', fields.TextField(null=True, unique=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('confirmed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('confirmed_by', fields.ForeignKeyField('casebot.Participant', source_field='confirmed_by_id', null=True, db_constraint=True, to_field='id', related_name='case_files_confirmed', on_delete=OnDelete.SET_NULL)),
            ],
            options={'table': 'case_files', 'app': 'casebot', 'pk_attr': 'id', 'table_description': 'A file a coordinator sent to the family through the bot: a document, the written opinion'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='HospitalRoute',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('case', fields.ForeignKeyField('casebot.Case', source_field='case_id', db_constraint=True, to_field='id', related_name='routes', on_delete=OnDelete.CASCADE)),
                ('position', fields.IntField()),
                ('hospital', fields.CharField(max_length=200)),
                ('department', fields.CharField(max_length=200)),
                ('reviewer', fields.CharField(null=True, max_length=200)),
                ('turnaround_days', fields.IntField(null=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('outcome', fields.CharField(null=True, max_length=12)),
                ('outcome_reason', fields.TextField(null=True, unique=False)),
                ('outcome_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'hospital_routes', 'app': 'casebot', 'unique_together': (('case', 'position'),), 'pk_attr': 'id', 'table_description': 'One hospital and department a case went to, in order, with the outcome of its review.'},
            bases=['Model'],
        ),
        # The hospital a case already went to is its first route.
        ops.RunSQL(
            "INSERT INTO hospital_routes (case_id, position, hospital, department, reviewer, created_at)"
            " SELECT id, 1, hospital, department, reviewer, COALESCE(hospital_set_at, created_at)"
            " FROM cases WHERE hospital IS NOT NULL AND department IS NOT NULL"
        ),
        ops.AddField(
            model_name='Case',
            name='home_doctor',
            field=fields.CharField(null=True, max_length=300),
        ),
        ops.AddField(
            model_name='Case',
            name='review_sla_days',
            field=fields.IntField(null=True),
        ),
        ops.AddField(
            model_name='Case',
            name='translation_status',
            field=fields.CharField(null=True, max_length=8),
        ),
        ops.AddField(
            model_name='ChecklistItem',
            name='arrival_expected_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='ChecklistItem',
            name='arrival_route',
            field=fields.CharField(null=True, max_length=8),
        ),
        ops.AlterField(
            model_name='Question',
            name='topic',
            field=fields.CharEnumField(null=True, description='DEPARTMENT_AND_REVIEWER: department_and_reviewer\nPRE_TRAVEL_REVIEW: pre_travel_review\nTRANSLATION: translation\nREPEAT_TESTS: repeat_tests\nREVIEW_DURATION: review_duration\nCANDIDACY_BEFORE_DEPOSIT: candidacy_before_deposit\nCOMPLICATIONS_AND_FOLLOW_UP: complications_and_follow_up\nTRANSLATED_SUMMARY: translated_summary\nFOLLOW_UP_QUESTIONS: follow_up_questions\nCARE_ELSEWHERE: care_elsewhere', enum_type=Topic, max_length=40),
        ),
    ]

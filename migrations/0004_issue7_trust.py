from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields
from tortoise.indexes import Index
from tortoise.migrations.constraints import UniqueConstraint

class Migration(migrations.Migration):
    dependencies = [('casebot', '0003_reminders')]

    initial = False

    operations = [
        # A doubled button press could record one check-in round twice; keep the first answer.
        ops.RunSQL(
            "DELETE FROM check_ins WHERE id NOT IN"
            " (SELECT MIN(id) FROM check_ins GROUP BY case_id, round)"
        ),
        # A standard question the seeds ask and the first cases lacked: its red flag needs it.
        ops.RunSQL(
            "INSERT INTO questions (case_id, number, direction, topic, text, created_at)"
            " SELECT c.id, COALESCE((SELECT MAX(q.number) FROM questions q WHERE q.case_id = c.id), 0) + 1,"
            " 'to_hospital', 'care_elsewhere',"
            " 'What is the plan if the recommendation is to continue care elsewhere?', c.created_at"
            " FROM cases c WHERE NOT EXISTS"
            " (SELECT 1 FROM questions q WHERE q.case_id = c.id AND q.topic = 'care_elsewhere')"
        ),
        ops.AddConstraint(
            model_name='CheckIn',
            constraint=UniqueConstraint(fields=('case', 'round'), name=None),
        ),
        ops.AddField(
            model_name='OutboxMessage',
            name='last_message_id',
            field=fields.BigIntField(null=True),
        ),
        ops.AddField(
            model_name='OutboxMessage',
            name='parts_sent',
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.AddIndex(
            model_name='OutboxMessage',
            index=Index(fields=['participant_id', 'last_message_id']),
        ),
        ops.AddField(
            model_name='OutboxMessage',
            name='part_message_ids',
            field=fields.JSONField(null=True),
        ),
        ops.AddField(
            model_name='Question',
            name='answer_message_id',
            field=fields.BigIntField(null=True),
        ),
        ops.AddField(
            model_name='Question',
            name='verdict',
            field=fields.CharField(null=True, max_length=8),
        ),
        ops.AddField(
            model_name='RecordFile',
            name='kind',
            field=fields.CharField(default='document', db_default='document', max_length=12),
        ),
        ops.AddField(
            model_name='Question',
            name='asked_by_family',
            field=fields.BooleanField(default=False, db_default=False),
        ),
        # Who asked was not kept: a question to the hospital asked by a member of the case's
        # family is the family's (staff cannot join a case; a removed coordinator is no member).
        ops.RunSQL(
            "UPDATE questions SET asked_by_family = TRUE WHERE direction = 'to_hospital'"
            " AND asked_by_id IN (SELECT m.participant_id FROM case_members m WHERE m.case_id = questions.case_id)"
        ),
    ]

# The S3-event trigger's image: small, it only reads object metadata and starts executions.
# AWS Lambda's Python 3.11 base image (Lambda runs it as a non-root user; boto3 included).
FROM public.ecr.aws/lambda/python:3.11

COPY docker/trigger.requirements.txt ${LAMBDA_TASK_ROOT}/requirements.txt
RUN pip install --no-cache-dir --requirement ${LAMBDA_TASK_ROOT}/requirements.txt \
        --target ${LAMBDA_TASK_ROOT}

COPY services/__init__.py services/settings.py services/lambda_errors.py ${LAMBDA_TASK_ROOT}/services/
COPY services/trigger/ ${LAMBDA_TASK_ROOT}/services/trigger/

CMD ["services.trigger.handler.handler"]

# The S3-event trigger's image: small, it starts an execution per object dropped under inbox/.
# AWS Lambda's Python 3.12 base image: Amazon Linux 2023, glibc 2.34 (services/deploy/packaging.py
# says why it is pinned by tag). Lambda runs it as a non-root user.
FROM public.ecr.aws/lambda/python:3.12

# Every version pinned (the base image's own boto3 is not relied on), wheels only.
COPY docker/trigger.requirements.txt ${LAMBDA_TASK_ROOT}/requirements.txt
# docker/prune.py then drops tests, sources and Arrow Flight, as for the local zips.
COPY docker/prune.py /tmp/prune.py
RUN pip install --no-cache-dir --only-binary=:all: \
        --requirement ${LAMBDA_TASK_ROOT}/requirements.txt --target ${LAMBDA_TASK_ROOT} \
    && python /tmp/prune.py ${LAMBDA_TASK_ROOT} && rm /tmp/prune.py

COPY services/__init__.py ${LAMBDA_TASK_ROOT}/services/
COPY services/pipeline/ ${LAMBDA_TASK_ROOT}/services/pipeline/

CMD ["services.pipeline.trigger.handler.handler"]

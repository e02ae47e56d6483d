# AWS Lambda's Python 3.12 base image (Amazon Linux 2023), pinned by tag: AWS republishes
# it with OS and runtime patches (docs/deploy.md). Lambda runs it as a non-root user.
FROM public.ecr.aws/lambda/python:3.12

# Wheels only: a package without one for this platform fails here, not at run time.
# services/tool/local/packages.py installs the same files, pruned alike, for the local zips.
COPY docker/*.txt docker/prune.py /tmp/build/
RUN pip install --no-cache-dir --only-binary=:all: --target ${LAMBDA_TASK_ROOT} \
        --requirement /tmp/build/scraper.requirements.txt \
        --constraint /tmp/build/scraper.requirements.txt --constraint /tmp/build/constraints.txt \
    && python /tmp/build/prune.py ${LAMBDA_TASK_ROOT} && rm -r /tmp/build

COPY services/__init__.py ${LAMBDA_TASK_ROOT}/services/
COPY services/pipeline/ ${LAMBDA_TASK_ROOT}/services/pipeline/
CMD ["services.pipeline.scraper.handler.handler"]

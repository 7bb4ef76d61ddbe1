#!/bin/sh
# key=value lines for the image's labels (paas.service.<key>)
echo "version=$(dpkg-query -W -f='${Version}' postgresql-15)"
